import Foundation
import NIOCore

/// JSON-RPC 2.0 as MCP's Streamable HTTP carries it: one message per POST (MCP dropped batches in
/// 2025-06-18), answered with one response object.
enum JSONRPC {
    /// A message from a client.
    enum Message: Sendable, Equatable {
        case request(id: JSONValue, method: String, params: JSONValue?)
        /// No answer but `202 Accepted`.
        case notification(method: String)
        /// A client's answer to a server request (this server sends none): accepted and dropped.
        case response
    }

    /// An error object (`code`, `message`, `data`).
    struct Failure: Error, Sendable, Equatable {
        let code: Int
        let message: String
        var data: JSONValue? = nil

        static func parse(_ message: String) -> Failure { Failure(code: -32700, message: message) }
        static func invalidRequest(_ message: String) -> Failure { Failure(code: -32600, message: message) }
        static func methodNotFound(_ method: String) -> Failure { Failure(code: -32601, message: "method not found: \(method)") }
        static func invalidParams(_ message: String) -> Failure { Failure(code: -32602, message: message) }
        /// MCP 2026-07-28: the `MCP-Protocol-Version` header says another version than the request.
        static func headerMismatch(_ message: String) -> Failure { Failure(code: -32020, message: message) }
        /// MCP 2026-07-28: a protocol version this server does not speak, with those it does.
        static func unsupportedVersion(_ requested: String, supported: [String]) -> Failure {
            Failure(
                code: -32022, message: "unsupported protocol version \(requested)",
                data: .object(["supported": .array(supported.map(JSONValue.string)), "requested": .string(requested)]))
        }
    }

    /// The message in `body`, or why it is not one.
    static func parse(_ body: ByteBuffer) -> Result<Message, Failure> {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(body.readableBytesView)) else {
            return .failure(.parse("the body is not JSON"))
        }
        if case .array = value { return .failure(.invalidRequest("batches are not part of MCP since 2025-06-18: send one message per request")) }
        guard case .object(let object) = value, object["jsonrpc"] == .string("2.0") else {
            return .failure(.invalidRequest("not a JSON-RPC 2.0 message"))
        }
        guard let methodValue = object["method"] else {
            return object["result"] != nil || object["error"] != nil ? .success(.response) : .failure(.invalidRequest("no method"))
        }
        guard let method = methodValue.string else { return .failure(.invalidRequest("the method must be a string")) }
        if let params = object["params"], params.object == nil {
            return .failure(.invalidRequest("params must be an object"))
        }
        guard let id = object["id"] else { return .success(.notification(method: method)) }
        switch id {
        case .string, .number: return .success(.request(id: id, method: method, params: object["params"]))
        default: return .failure(.invalidRequest("the id must be a string or a number"))
        }
    }

    static func response(id: JSONValue, result: JSONValue) -> JSONValue {
        .object(["jsonrpc": "2.0", "id": id, "result": result])
    }

    static func response(id: JSONValue, error: Failure) -> JSONValue {
        var object: [String: JSONValue] = ["code": .number(Double(error.code)), "message": .string(error.message)]
        if let data = error.data { object["data"] = data }
        return .object(["jsonrpc": "2.0", "id": id, "error": .object(object)])
    }
}
