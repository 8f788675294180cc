import Foundation
import GatewayTestSupport
import Logging
import Testing

@testable import GatewayRuntime

/// An admin who edits a policy file in place (no write-to-temp-and-rename) can be caught mid-write
/// by the watcher. A half-written file must not take effect as a partial set.
@Suite("Half-written policy files")
struct HalfWrittenPolicyTests {
    @Test func aChangeIsAppliedOnlyOnceTwoPollsAgree() {
        #expect(!PolicyWatcher.shouldReload(onDisk: "half", previousPoll: "loaded", loaded: "loaded"))
        #expect(!PolicyWatcher.shouldReload(onDisk: "full", previousPoll: "half", loaded: "loaded"))
        #expect(PolicyWatcher.shouldReload(onDisk: "full", previousPoll: "full", loaded: "loaded"))
        #expect(!PolicyWatcher.shouldReload(onDisk: "loaded", previousPoll: "loaded", loaded: "loaded"))
    }

    @Test func aFingerprintTakenMidWriteIsNotAppliedAfterTheFileMovedOn() throws {
        let client = TestClient("svc")
        let directory = TemporaryDirectory()
        try directory.policies(at: "")
        let full = client.policy(allow: ["contacts.readonly", "contacts.write"], deny: ["DELETE /contacts/:contactId"])
        directory.write("clients/svc.yaml", client.policy(allow: ["contacts.readonly"]))
        let store = try PolicyStore(directory: directory.path, logger: Logger(label: "test"))

        // The watcher polls while the new file is half written: a valid but partial set (the deny rule is missing).
        let cut = full.range(of: "deny:")!.lowerBound
        directory.write("clients/svc.yaml", String(full[..<cut]))
        let halfWritten = store.fingerprintOnDisk()
        // The writer finishes before the watcher acts on what it saw.
        directory.write("clients/svc.yaml", full)
        #expect(store.reload(onlyIf: halfWritten) == .unchanged)
        #expect(store.snapshot.policies.clients["svc"]?.deny.isEmpty == true)

        // The next polls see the complete file, twice, and apply it.
        let complete = store.fingerprintOnDisk()
        #expect(PolicyWatcher.shouldReload(onDisk: complete, previousPoll: complete, loaded: store.snapshot.fingerprint))
        #expect(store.reload(onlyIf: complete) == .applied)
        #expect(store.snapshot.policies.clients["svc"]?.deny.count == 1)
    }
}
