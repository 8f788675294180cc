import Hummingbird
import NIOCore

/// The proxy listener's request context: Hummingbird's core storage plus the event loop of the
/// caller's connection, where the forwarder takes its upstream connection from.
package struct ProxyRequestContext: RequestContext {
    package var coreContext: CoreRequestContextStorage
    let eventLoop: any EventLoop

    package init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        eventLoop = source.channel.eventLoop
    }
}
