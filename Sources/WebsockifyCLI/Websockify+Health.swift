import Proxy

extension Websockify {
    /// `--health-path=PATH`: the path a load balancer checks (see ``HealthCheck``); nil without it.
    func healthCheck() throws -> HealthCheck? {
        try healthPath.map { try HealthCheck(path: $0) }
    }
}
