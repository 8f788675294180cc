import Foundation

/// A replica's claim on the deliveries it takes: who holds them and until when. A claim is void
/// before `until` once its holder is no longer the live incarnation of a replica seen since
/// `replicasSeenSince` (it died, or restarted under the same name), so another replica delivers
/// at once instead of waiting out the claim. Deliveries are at least once, so a void claim of a
/// replica that was only slow costs a second delivery, never a lost one.
package struct DeliveryClaim: Sendable {
    package var holder: String
    package var until: Date
    package var replicasSeenSince: Date

    package init(holder: String, until: Date, replicasSeenSince: Date) {
        self.holder = holder
        self.until = until
        self.replicasSeenSince = replicasSeenSince
    }
}
