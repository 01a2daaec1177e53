import SnapfleetConfig
import SnapfleetCore

/// The limits `snapfleet-controller status` judges each server by (`monitoring:` in
/// `controller.yaml`): past a warning limit the status is WARNING (exit 1), past a critical one
/// CRITICAL (exit 2), as Nagios plugins report.
public struct MonitoringThresholds: Codable, Equatable, Sendable {
    /// The last DONE backup older than this many hours is a warning. Default 26 (a daily schedule and two hours' grace).
    public var backupAgeWarningHours: Int
    /// … and critical past this many. Default 50.
    public var backupAgeCriticalHours: Int
    /// The server's agent away (not connected) this many minutes is a warning. Default 5.
    public var agentAwayWarningMinutes: Int
    /// … and critical past this many. Default 30.
    public var agentAwayCriticalMinutes: Int
    /// The newest archived WAL segment older than this many minutes, while PostgreSQL has WAL
    /// to archive, is a warning. Default 30.
    public var walLagWarningMinutes: Int
    /// … and critical past this many. Default 120.
    public var walLagCriticalMinutes: Int

    /// The defaults.
    public init(
        backupAgeWarningHours: Int = 26, backupAgeCriticalHours: Int = 50, agentAwayWarningMinutes: Int = 5,
        agentAwayCriticalMinutes: Int = 30, walLagWarningMinutes: Int = 30, walLagCriticalMinutes: Int = 120
    ) {
        self.backupAgeWarningHours = backupAgeWarningHours
        self.backupAgeCriticalHours = backupAgeCriticalHours
        self.agentAwayWarningMinutes = agentAwayWarningMinutes
        self.agentAwayCriticalMinutes = agentAwayCriticalMinutes
        self.walLagWarningMinutes = walLagWarningMinutes
        self.walLagCriticalMinutes = walLagCriticalMinutes
    }

    enum CodingKeys: String, CodingKey {
        case backupAgeWarningHours = "backup_age_warning_hours"
        case backupAgeCriticalHours = "backup_age_critical_hours"
        case agentAwayWarningMinutes = "agent_away_warning_minutes"
        case agentAwayCriticalMinutes = "agent_away_critical_minutes"
        case walLagWarningMinutes = "wal_lag_warning_minutes"
        case walLagCriticalMinutes = "wal_lag_critical_minutes"
    }

    /// Decodes, each limit defaulting on its own.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = MonitoringThresholds()
        backupAgeWarningHours = try container.decodeIfPresent(Int.self, forKey: .backupAgeWarningHours) ?? defaults.backupAgeWarningHours
        backupAgeCriticalHours = try container.decodeIfPresent(Int.self, forKey: .backupAgeCriticalHours) ?? defaults.backupAgeCriticalHours
        agentAwayWarningMinutes = try container.decodeIfPresent(Int.self, forKey: .agentAwayWarningMinutes) ?? defaults.agentAwayWarningMinutes
        agentAwayCriticalMinutes =
            try container.decodeIfPresent(Int.self, forKey: .agentAwayCriticalMinutes) ?? defaults.agentAwayCriticalMinutes
        walLagWarningMinutes = try container.decodeIfPresent(Int.self, forKey: .walLagWarningMinutes) ?? defaults.walLagWarningMinutes
        walLagCriticalMinutes = try container.decodeIfPresent(Int.self, forKey: .walLagCriticalMinutes) ?? defaults.walLagCriticalMinutes
    }

    /// Each limit positive, each warning below its critical.
    func validate() throws(SnapfleetError) {
        let pairs = [
            (backupAgeWarningHours, backupAgeCriticalHours, "backup_age"), (agentAwayWarningMinutes, agentAwayCriticalMinutes, "agent_away"),
            (walLagWarningMinutes, walLagCriticalMinutes, "wal_lag"),
        ]
        for (warning, critical, name) in pairs {
            let unit = name == "backup_age" ? "hours" : "minutes"
            try ConfigCheck.range(warning, 1...100_000, key: "monitoring.\(name)_warning_\(unit)")
            try ConfigCheck.range(critical, warning...100_000, key: "monitoring.\(name)_critical_\(unit)")
        }
    }
}
