import Hummingbird
import NIOCore

/// The public listener's request context: Hummingbird's own, plus the peer's address (the install
/// callback's rate limit is per client address).
struct PublicRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}
