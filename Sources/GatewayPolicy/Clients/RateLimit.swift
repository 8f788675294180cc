/// A client's request budget, written `N/10s` (also `s`, `m`, `h`): N requests per period,
/// enforced as a token bucket that holds at most N and refills N per period.
package struct RateLimit: Sendable, Hashable, CustomStringConvertible {
    package var requests: Int
    package var periodSeconds: Double

    package init(requests: Int, periodSeconds: Double) {
        self.requests = requests
        self.periodSeconds = periodSeconds
    }

    package init?(parsing text: String) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let requests = Int(parts[0]), requests > 0 else { return nil }
        var period = parts[1]
        let unit: Double
        switch period.last {
        case "s": unit = 1
        case "m": unit = 60
        case "h": unit = 3_600
        default: return nil
        }
        period.removeLast()
        let count = period.isEmpty ? 1 : Double(period)
        guard let count, count > 0, count.isFinite else { return nil }
        self.requests = requests
        self.periodSeconds = count * unit
    }

    package var description: String { "\(requests)/\(periodSeconds.formatted())s" }
}

extension Double {
    fileprivate func formatted() -> String {
        rounded() == self ? String(Int(self)) : String(self)
    }
}
