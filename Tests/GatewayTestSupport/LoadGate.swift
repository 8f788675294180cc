import Testing

/// Keeps tests that measure time apart from the heaviest tests (gateway or CLI processes, a
/// PostgreSQL server starting), which on a two-core machine would otherwise slow them past their
/// bounds. Heavy suites run beside each other and beside everything else; a timed test waits until
/// none runs, and none starts while it does. An exclusive one (the fuzz build, which takes both
/// cores for minutes) runs with no other gated suite at all, so PostgreSQL's deadlines hold too.
/// `@Suite(.load(.heavy))`, `@Test(.load(.timed))`, `@Suite(.load(.exclusive))`.
package struct LoadGate: SuiteTrait, TestTrait, TestScoping {
    package enum Kind: Sendable {
        case heavy
        case timed
        case exclusive
    }

    let kind: Kind

    package func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        await Gate.shared.enter(kind)
        do {
            try await function()
        } catch {
            await Gate.shared.leave(kind)
            throw error
        }
        await Gate.shared.leave(kind)
    }

    /// Who is inside, and who waits (in arrival order).
    private actor Gate {
        static let shared = Gate()
        private var inside: [Kind: Int] = [:]
        private var waiting: [(kind: Kind, continuation: CheckedContinuation<Void, Never>)] = []

        func enter(_ kind: Kind) async {
            if waiting.isEmpty, admits(kind) {
                inside[kind, default: 0] += 1
                return
            }
            await withCheckedContinuation { waiting.append((kind, $0)) }
        }

        func leave(_ kind: Kind) {
            inside[kind, default: 1] -= 1
            while let next = waiting.first, admits(next.kind) {
                waiting.removeFirst()
                inside[next.kind, default: 0] += 1
                next.continuation.resume()
            }
        }

        private func admits(_ kind: Kind) -> Bool {
            switch kind {
            case .heavy: inside[.timed, default: 0] == 0 && inside[.exclusive, default: 0] == 0
            case .timed, .exclusive: inside.values.allSatisfy { $0 == 0 }
            }
        }
    }
}

extension Trait where Self == LoadGate {
    package static func load(_ kind: LoadGate.Kind) -> Self { LoadGate(kind: kind) }
}
