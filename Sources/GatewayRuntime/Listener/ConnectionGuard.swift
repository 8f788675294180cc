import NIOCore
import NIOHTTP1

/// Carries out `ConnectionGuardStateMachine`'s actions on one connection: it sits after the HTTP
/// decoder (and `RequestTargetGuard`), sees every request part, answer part and read, keeps at
/// most one timer, and closes the connection when the machine says so, counting why.
package final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    package typealias InboundIn = HTTPServerRequestPart
    package typealias InboundOut = HTTPServerRequestPart
    package typealias OutboundIn = HTTPServerResponsePart
    package typealias OutboundOut = HTTPServerResponsePart

    private var machine: ConnectionGuardStateMachine
    private let connections: ListenerConnections
    private var timer: Scheduled<Void>?
    private var armedFor: NIODeadline?
    private var context: ChannelHandlerContext?

    package init(connections: ListenerConnections) {
        self.connections = connections
        machine = ConnectionGuardStateMachine(limits: connections.limits, openedAt: .now())
    }

    package func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        rearm(context)
    }

    package func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        timer?.cancel()
        timer = nil
    }

    /// Whether a request's head has passed and its answer has not ended (`RequestTargetGuard` asks).
    var answering: Bool { machine.answering }

    /// The client sent bytes (`InboundBytesObserver`, on the loop, before the decoder sees them).
    func bytesArrived() {
        guard let context else { return }
        machine.bytesArrived(.now())
        rearm(context)
    }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch machine.read(part.kind, .now()) {
        case .pass: context.fireChannelRead(data)
        case .drop: break
        }
        rearm(context)
    }

    package func read(context: ChannelHandlerContext) {
        machine.readRequested(.now())
        rearm(context)
        context.read()
    }

    package func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let part = unwrapOutboundIn(data)
        switch written(part.kind) {
        case .pass:
            context.write(data, promise: promise)
        case .passMarkingClose:
            guard case .head(var head) = part else { return context.write(data, promise: promise) }
            head.headers.replaceOrAdd(name: "Connection", value: "close")
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .passThenClose:
            let written = promise ?? context.eventLoop.makePromise()
            context.write(data, promise: written)
            written.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }

    /// An answer's head written as bytes below this handler (`ProxyFastPath`), counted as one that
    /// passes: whether it must say `Connection: close` (the last this connection carries).
    package func answerHeadWrittenPast() -> Bool {
        written(.head) == .passMarkingClose
    }

    /// An answer's end written below this handler: whether to close the connection once it is written.
    package func answerEndWrittenPast() -> Bool {
        written(.end) == .passThenClose
    }

    private func written(_ part: HTTPPartKind) -> ConnectionGuardStateMachine.WriteAction {
        let action = machine.write(part, .now())
        if action == .passThenClose { connections.closed(.maxRequests) }
        if let context { rearm(context) }
        return action
    }

    /// One timer for the machine's deadline: armed again only when it fired or the deadline moved earlier.
    private func rearm(_ context: ChannelHandlerContext) {
        guard let deadline = machine.deadline else { return }
        if let armedFor, armedFor <= deadline { return }
        timer?.cancel()
        armedFor = deadline
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            armedFor = nil
            timer = nil
            if let reason = machine.expire(.now()) {
                connections.closed(reason)
                context.close(promise: nil)
            } else {
                rearm(context)
            }
        }
    }
}

extension HTTPServerRequestPart {
    fileprivate var kind: HTTPPartKind {
        switch self {
        case .head: .head
        case .body(let buffer): .body(buffer.readableBytes)
        case .end: .end
        }
    }
}

extension HTTPServerResponsePart {
    fileprivate var kind: HTTPPartKind {
        switch self {
        case .head: .head
        case .body(let data): .body(data.readableBytes)
        case .end: .end
        }
    }
}
