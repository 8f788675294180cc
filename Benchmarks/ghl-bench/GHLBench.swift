import ArgumentParser

@main
struct GHLBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ghl-bench",
        abstract: "ghl-gateway benchmarks (run them in a release build; they print figures, they assert nothing).",
        subcommands: [TrieBenchmark.self, SeedCommand.self, StormCommand.self, ReplicaStormCommand.self, FanOutBenchmark.self, AuditBenchmark.self]
    )
}
