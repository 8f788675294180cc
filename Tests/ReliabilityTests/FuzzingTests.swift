import GatewayTestSupport
import Testing

/// Every parser's libFuzzer target runs for a few seconds over its seed corpus, checking its
/// properties (issue 18); `scripts/fuzz.sh SECONDS` runs them longer. The first run builds the
/// fuzz binary (several minutes), so the suite is heavy: timed tests wait for it.
@Suite("Fuzzing every parser", .load(.heavy))
struct FuzzingTests {
    static let secondsEach = 10

    @Test func everyFuzzTargetRunsWithoutAFinding() async throws {
        let script = GatewayHarness.repositoryRoot + "/scripts/fuzz.sh"
        let run = ChildProcess("/bin/bash", [script, "\(Self.secondsEach)"])
        try run.start()
        let status = await run.exit(timeout: .seconds(25 * 60))
        #expect(status == 0, "\(run.text)")
        #expect(run.text.contains("total: "), "\(run.text)")
        #expect(!run.text.contains("FINDING"), "\(run.text)")
    }
}
