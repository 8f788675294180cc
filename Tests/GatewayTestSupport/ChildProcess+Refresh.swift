import Foundation
import HighLevelSimulator

extension ChildProcess {
    /// Asks this `serve` process (through `client`) to renew `owner` (`company=ID` or
    /// `location=ID`), holds that refresh at the simulator, kills the process with SIGKILL while
    /// HighLevel has it, and returns once HighLevel rotated the token and the process is gone: the
    /// moment a crash can lose an installation. Returns how the process ended.
    package func killDuringRefresh(of owner: String, through client: ProcessClient, simulator: HighLevelSimulator) async -> Int32 {
        let state = simulator.state
        await state.delayNextRefreshes(1, by: .milliseconds(500))
        let received = await state.count(.receivedRefreshes)
        async let refresh = client.admin("POST", "/tokens/refresh?\(owner)")
        await state.wait(for: .receivedRefreshes, after: received)
        signal(SIGKILL)
        let status = await exit()
        _ = try? await refresh
        await state.wait(for: .completedRefreshes, after: received)
        return status
    }
}
