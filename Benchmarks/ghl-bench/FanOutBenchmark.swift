import ArgumentParser
import AsyncHTTPClient
import Foundation
import GatewaySandbox
import NIOCore

/// Webhook fan-out: events per second from HighLevel's POST to every subscriber's 2xx, and how
/// long HighLevel waits for the gateway's answer (with a subscriber that never answers).
/// `BENCH_LOG=1` shows the gateway's log lines.
struct FanOutBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fanout", abstract: "Events per second from ingest to delivery, and ingest latency with a dead subscriber.")

    @Option(help: "Events HighLevel sends.") var events = 2_000
    @Option(help: "Subscribers of every event.") var subscribers = 10
    @Option(help: "Events in flight from HighLevel at once.") var concurrency = 16

    func run() async throws {
        for dead in [false, true] {
            var sandbox = Sandbox(
                ports: .init(proxy: 0, public: 0, admin: 0), logLevel: ProcessInfo.processInfo.environment["BENCH_LOG"] == nil ? .error : .info)
            sandbox.extraSubscribers = subscribers - 1
            sandbox.deadSubscriber = dead
            sandbox.output = { _ in }
            let (events, subscribers, concurrency) = (self.events, self.subscribers, self.concurrency)
            try await sandbox.run { session in
                let key = await session.simulator.state.configuration.webhookSigningKey
                let appId = await session.simulator.state.configuration.appId
                let expected = events * subscribers
                let started = ContinuousClock.now
                async let delivered: ContinuousClock.Instant = {
                    var count = 0
                    for await _ in session.subscriber.received {
                        count += 1
                        if count == expected { break }
                    }
                    return ContinuousClock.now
                }()
                let latencies = try await withThrowingTaskGroup(of: [Duration].self) { group in
                    for worker in 0..<concurrency {
                        group.addTask {
                            var latencies: [Duration] = []
                            for index in stride(from: worker, to: events, by: concurrency) {
                                let body = try JSONSerialization.data(
                                    withJSONObject: [
                                        "type": "ContactCreate", "appId": appId, "locationId": "locSim0001", "webhookId": "bench-\(index)",
                                        "id": "contact\(index)", "email": "ada@example.com",
                                    ], options: [.sortedKeys])
                                var request = HTTPClientRequest(url: session.publicURL + "/webhooks/highlevel")
                                request.method = .POST
                                request.headers.add(name: "Content-Type", value: "application/json")
                                request.headers.add(name: "x-ghl-signature", value: try key.signature(for: body).base64EncodedString())
                                request.body = .bytes(ByteBuffer(bytes: body))
                                let sent = ContinuousClock.now
                                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                                _ = try await response.body.collect(upTo: 1 << 16)
                                guard response.status == .ok else { throw ValidationError("ingest answered \(response.status.code)") }
                                latencies.append(ContinuousClock.now - sent)
                            }
                            return latencies
                        }
                    }
                    return try await group.reduce(into: []) { $0 += $1 }.sorted()
                }
                let ingested = ContinuousClock.now
                let done = await delivered
                func ms(_ duration: Duration) -> Double {
                    Double(duration.components.seconds) * 1_000 + Double(duration.components.attoseconds) / 1e15
                }
                let total = done - started
                print("fan-out: \(events) events × \(subscribers) live subscribers\(dead ? " + 1 dead (never answers)" : "")")
                print(
                    String(
                        format: "  ingest: %.0f events/s; latency p50 %.1f ms, p99 %.1f ms", Double(events) / (ms(ingested - started) / 1_000),
                        ms(latencies[latencies.count / 2]), ms(latencies[min(latencies.count - 1, latencies.count * 99 / 100)])))
                print(
                    String(
                        format: "  ingest to the last delivery: %.0f ms, %.0f events/s, %.0f deliveries/s", ms(total),
                        Double(events) / (ms(total) / 1_000), Double(expected) / (ms(total) / 1_000)))
                fflush(nil)
            }
        }
    }
}
