import Foundation
import GatewayTestSupport
import NIOCore
import NIOPosix
import Testing

/// The tests' child processes inherit nothing of the test process but their output pipe: NIO opens
/// sockets without close-on-exec, and a child holding a copy of a test's connection would keep it
/// open after the test closed it (the upstream pool tests then waited for a FIN that never came).
@Suite("Child processes")
struct ChildProcessTests {
    @Test func aChildInheritsNoSocketOfTheTestProcess() async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(server.localAddress?.port)
        let client = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port).get()
        let listing = ChildProcess("/bin/ls", ["-l", "/proc/self/fd"])
        try listing.start()
        #expect(await listing.exit() == 0)
        let links = listing.text.split(separator: "\n").filter { $0.contains("->") }
        #expect(!links.contains { $0.contains("socket:") }, "\(listing.text)")
        try await client.close()
        try await server.close()
    }
}
