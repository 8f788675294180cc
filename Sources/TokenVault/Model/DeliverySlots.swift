/// The attempts a deliverer can start now: in all, and per subscriber, given those it is making.
/// A store claims only deliveries that fit, so nothing is claimed that then waits.
package struct DeliverySlots: Sendable {
    package var total: Int
    package var perClient: Int
    /// Deliveries being attempted now (never claimed again), and how many per client.
    package var busy: Set<Int64>
    package var busyPerClient: [String: Int]

    package init(total: Int, perClient: Int, busy: Set<Int64>, busyPerClient: [String: Int]) {
        self.total = total
        self.perClient = perClient
        self.busy = busy
        self.busyPerClient = busyPerClient
    }

    /// Clients at their share: their rows are skipped in the query.
    package var fullClients: [String] { busyPerClient.filter { $0.value >= perClient }.keys.sorted() }

    /// How many rows to read to fill the free slots (the busy ones may be among them).
    package var readLimit: Int { max(0, total - busy.count) * 2 + busy.count }

    /// The candidates (oldest first) that fit, in order.
    package func fitting<Candidate>(_ candidates: [Candidate], id: (Candidate) -> Int64, client: (Candidate) -> String) -> [Candidate] {
        var free = total - busy.count
        var perClient = busyPerClient
        var taken: [Candidate] = []
        for candidate in candidates where free > 0 && !busy.contains(id(candidate)) && perClient[client(candidate), default: 0] < self.perClient {
            perClient[client(candidate), default: 0] += 1
            free -= 1
            taken.append(candidate)
        }
        return taken
    }
}
