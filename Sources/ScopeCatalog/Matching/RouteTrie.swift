/// The compiled route tree: one node per path segment, literal edges before the parameter edge,
/// with backtracking. Stored flat (plain integers and one byte pool) so that matching reads
/// memory without reference counting and allocates nothing.
///
/// Literal segments match ignoring ASCII case, as HighLevel's router (Express) does: a request
/// for `/calendars/EVENTS` is the events route there, so it must be here. Invariants:
/// - literals that differ only in ASCII case are one edge (the route key says they are one route);
/// - each node's edges are sorted by (length, `foldedHash`), the order `literalEdge` searches in: a
///   probe compares two integers and reads a key's bytes only to confirm the one it lands on (keys
///   of one length often share a long prefix, `contacts`/`conversations` or generated names, which a
///   byte-wise order would read on every probe);
/// - `keyBytes` keep the catalog's spelling, so a match can say whether the request spelled
///   every literal as the catalog does (`exact`), and the caller can forward that spelling when not.
struct RouteTrie: Sendable {
    private struct Node: Sendable {
        var firstEdge: Int32
        var edgeCount: Int32
        var parameterChild: Int32
        /// Start of this node's method slots in `leaves`, or -1 when no route ends here.
        var leafBase: Int32
    }

    /// 16 bytes: four to a cache line.
    private struct Edge: Sendable {
        /// FNV-1a over the key's ASCII-lowercased bytes.
        var foldedHash: UInt32
        var keyStart: Int32
        var keyLength: Int32
        var child: Int32
    }

    private static let methodCount = RouteMethod.allCases.count
    private let nodes: [Node]
    /// Edges of each node, sorted by (length, folded hash).
    private let edges: [Edge]
    private let keyBytes: [UInt8]
    /// `leaves[node.leafBase + method.slot]` = route index, or -1; only nodes where a route ends have slots.
    private let leaves: [Int32]
    let maxParameterCount: Int

    /// Builds the trie; `routes[i]` becomes route index `i`. Routes must be unique by `RouteKey`.
    init(routes: [CatalogRoute]) {
        final class Draft {
            /// By the literal's ASCII-lowercased text; the first spelling seen is kept.
            var literals: [String: (spelling: String, child: Draft)] = [:]
            var parameter: Draft?
            var routes = [Int32](repeating: -1, count: RouteTrie.methodCount)
        }
        let root = Draft()
        var maxParameters = 0
        for (index, route) in routes.enumerated() {
            var node = root
            for segment in route.template.segments {
                switch segment {
                case .literal(let text):
                    let folded = ASCIICase.lowercased(text)
                    let next = node.literals[folded] ?? (text, Draft())
                    node.literals[folded] = next
                    node = next.child
                case .parameter:
                    let next = node.parameter ?? Draft()
                    node.parameter = next
                    node = next
                }
            }
            precondition(node.routes[route.method.slot] == -1, "duplicate route \(route)")
            node.routes[route.method.slot] = Int32(index)
            maxParameters = max(maxParameters, route.parameterNames.count)
        }

        var nodes: [Node] = []
        var edges: [Edge] = []
        var keyBytes: [UInt8] = []
        var leaves: [Int32] = []
        // Breadth-first numbering; each node's edges are laid out contiguously.
        var queue: [Draft] = [root]
        var head = 0
        nodes.append(Node(firstEdge: 0, edgeCount: 0, parameterChild: -1, leafBase: -1))
        while head < queue.count {
            let draft = queue[head]
            let literals = draft.literals.values.map { literal in
                let key = Array(literal.spelling.utf8)
                return (key: key, hash: Self.foldedHash(key), child: literal.child)
            }.sorted { ($0.key.count, $0.hash) < ($1.key.count, $1.hash) }
            nodes[head].firstEdge = Int32(edges.count)
            nodes[head].edgeCount = Int32(literals.count)
            for (key, hash, child) in literals {
                edges.append(
                    Edge(foldedHash: hash, keyStart: Int32(keyBytes.count), keyLength: Int32(key.count), child: Int32(queue.count)))
                keyBytes.append(contentsOf: key)
                queue.append(child)
                nodes.append(Node(firstEdge: 0, edgeCount: 0, parameterChild: -1, leafBase: -1))
            }
            if let parameter = draft.parameter {
                nodes[head].parameterChild = Int32(queue.count)
                queue.append(parameter)
                nodes.append(Node(firstEdge: 0, edgeCount: 0, parameterChild: -1, leafBase: -1))
            }
            if draft.routes.contains(where: { $0 >= 0 }) {
                nodes[head].leafBase = Int32(leaves.count)
                leaves.append(contentsOf: draft.routes)
            }
            head += 1
        }
        self.nodes = nodes
        self.edges = edges
        self.keyBytes = keyBytes
        self.leaves = leaves
        self.maxParameterCount = maxParameters
    }

    /// FNV-1a (32 bits) over `bytes` lowercased in ASCII: equal for literals that differ only in case.
    @inline(__always)
    static func foldedHash<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> UInt32 {
        var hash: UInt32 = 0x811c_9dc5
        for byte in bytes { hash = (hash ^ UInt32(ASCIICase.lower(byte))) &* 0x0100_0193 }
        return hash
    }

    /// Finds the route for `method` and the path bytes (no query string). Static segments are
    /// tried before the parameter edge, ignoring ASCII case; a dead end backtracks. One trailing
    /// slash is ignored. On success `captures[0..<count]` hold the byte ranges of the route's
    /// parameters in order, and `exact` says whether every literal was spelled as the catalog does.
    func match(
        _ method: RouteMethod, _ path: UnsafeBufferPointer<UInt8>, captures: UnsafeMutableBufferPointer<Range<Int>>
    ) -> (route: Int, captureCount: Int, exact: Bool)? {
        var end = path.count
        guard end > 0, path[0] == UInt8(ascii: "/") else { return nil }
        if end > 1, path[end - 1] == UInt8(ascii: "/"), path[end - 2] != UInt8(ascii: "/") { end -= 1 }
        return nodes.withUnsafeBufferPointer { nodes in
            edges.withUnsafeBufferPointer { edges in
                keyBytes.withUnsafeBufferPointer { keys in
                    leaves.withUnsafeBufferPointer { leaves in
                        let walk = Walk(
                            nodes: nodes, edges: edges, keys: keys, leaves: leaves, path: path, end: end,
                            slot: method.slot, captures: captures)
                        var captured = 0
                        var exact = true
                        let route = walk.descend(node: 0, at: end == 1 ? 1 : 0, depth: 0, captured: &captured, exact: &exact)
                        return route >= 0 ? (Int(route), captured, exact) : nil
                    }
                }
            }
        }
    }

    private struct Walk {
        let nodes: UnsafeBufferPointer<Node>
        let edges: UnsafeBufferPointer<Edge>
        let keys: UnsafeBufferPointer<UInt8>
        let leaves: UnsafeBufferPointer<Int32>
        let path: UnsafeBufferPointer<UInt8>
        let end: Int
        let slot: Int
        let captures: UnsafeMutableBufferPointer<Range<Int>>

        /// `exact` is cleared when the route found went through a literal spelled in another case.
        func descend(node: Int, at position: Int, depth: Int, captured: inout Int, exact: inout Bool) -> Int32 {
            if position >= end {
                captured = depth
                let base = nodes[node].leafBase
                return base < 0 ? -1 : leaves[Int(base) &+ slot]
            }
            let start = position &+ 1
            var stop = start
            while stop < end, path[stop] != UInt8(ascii: "/") { stop &+= 1 }
            guard stop > start else { return -1 }

            let current = nodes[node]
            if let edge = literalEdge(current, start, stop) {
                let found = descend(node: Int(edges[edge].child), at: stop, depth: depth, captured: &captured, exact: &exact)
                if found >= 0 {
                    if exact, !spelledAsKey(edges[edge], start) { exact = false }
                    return found
                }
            }
            if current.parameterChild >= 0, depth < captures.count {
                captures[depth] = start..<stop
                return descend(node: Int(current.parameterChild), at: stop, depth: depth &+ 1, captured: &captured, exact: &exact)
            }
            return -1
        }

        /// Binary search of the node's edges, ordered by (length, folded hash): the index of the edge
        /// whose key is the segment ignoring ASCII case. Keys with the segment's length and hash (a
        /// collision) sit side by side; each is confirmed byte by byte.
        private func literalEdge(_ node: Node, _ start: Int, _ stop: Int) -> Int? {
            let length = Int32(stop &- start)
            let hash = RouteTrie.foldedHash(UnsafeBufferPointer(rebasing: path[start..<stop]))
            let first = Int(node.firstEdge)
            let last = first &+ Int(node.edgeCount)
            var low = first
            var high = last
            while low < high {
                let mid = (low &+ high) >> 1
                let edge = edges[mid]
                if (edge.keyLength, edge.foldedHash) < (length, hash) { low = mid &+ 1 } else { high = mid }
            }
            while low < last, edges[low].keyLength == length, edges[low].foldedHash == hash {
                if equalIgnoringCase(edges[low], start) { return low }
                low &+= 1
            }
            return nil
        }

        /// Whether the path segment at `start`, as long as the edge's key, is the key ignoring ASCII case.
        private func equalIgnoringCase(_ edge: Edge, _ start: Int) -> Bool {
            let keyStart = Int(edge.keyStart)
            var i = 0
            while i < Int(edge.keyLength) {
                if ASCIICase.lower(keys[keyStart &+ i]) != ASCIICase.lower(path[start &+ i]) { return false }
                i &+= 1
            }
            return true
        }

        /// Whether the path segment at `start` has the edge's key byte for byte.
        private func spelledAsKey(_ edge: Edge, _ start: Int) -> Bool {
            let keyStart = Int(edge.keyStart)
            var i = 0
            while i < Int(edge.keyLength) {
                if keys[keyStart &+ i] != path[start &+ i] { return false }
                i &+= 1
            }
            return true
        }
    }
}
