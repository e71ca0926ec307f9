import Foundation
import Testing

/// The Prometheus configuration, the alert rules and the Grafana dashboard use only metrics and
/// labels the code exports; every alert has its runbook section; every metric has a panel.
@Suite("DeployKit: Prometheus and Grafana")
struct MonitoringTests {
    let facts = CodeFacts.shared

    struct Rule {
        let alert: String
        let expression: String
        let annotations: [String: String]
        let labels: [String: String]
    }

    func rules() throws -> [Rule] {
        let file = try Repo.yaml("ops/prometheus/alerts.yml")
        return Doc.list(file["groups"]).compactMap { Doc.map($0) }.flatMap { group in
            Doc.list(group["rules"]).compactMap { Doc.map($0) }.map { rule in
                Rule(alert: Doc.string(rule["alert"]) ?? "", expression: Doc.string(rule["expr"]) ?? "",
                     annotations: (Doc.map(rule["annotations"]) ?? [:]).compactMapValues { Doc.string($0) },
                     labels: (Doc.map(rule["labels"]) ?? [:]).compactMapValues { Doc.string($0) })
            }
        }
    }

    func dashboardExpressions() throws -> [String] {
        let data = try Data(contentsOf: Repo.url("ops/grafana/hotline-dashboard.json"))
        let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var found: [String] = []
        func walk(_ value: Any) {
            if let object = value as? [String: Any] {
                if let expression = object["expr"] as? String { found.append(expression) }
                object.values.forEach(walk)
            } else if let list = value as? [Any] {
                list.forEach(walk)
            }
        }
        walk(dashboard["panels"] ?? [])
        return found
    }

    @Test func alertsUseOnlyExportedMetricsAndLabels() throws {
        let rules = try rules()
        #expect(rules.count >= 10)
        for rule in rules {
            let use = PromQLUse(rule.expression + " " + rule.annotations.values.joined(separator: " "))
            #expect(!use.metrics.isEmpty || rule.expression.contains("up{"), "\(rule.alert) uses no fleet metric")
            for metric in use.metrics { #expect(facts.metrics.contains(metric), "\(rule.alert): \(metric) is not exported by the code") }
            for label in use.labels { #expect(facts.queryLabels.contains(label), "\(rule.alert): label \(label) does not exist") }
            #expect(["warning", "critical"].contains(rule.labels["severity"] ?? ""), "\(rule.alert) severity")
        }
    }

    @Test func theAlertsTheIssueAsksForExist() throws {
        let used = try rules().reduce(into: Set<String>()) { $0.formUnion(PromQLUse($1.expression).metrics) }
        for metric in ["hotline_queue_oldest_ready_seconds", "hotline_jobs_dead_total", "hotline_queue_depth", "hotline_db_up",
                       "hotline_listener_connected", "hotline_sms_unknown_waiting", "hotline_sla_points_fired_total", "hotline_sla_deadlines"] {
            #expect(used.contains(metric), "no alert on \(metric)")
        }
        #expect(try rules().contains { $0.expression.contains("up{worker") && $0.expression.contains("== 0") }, "no worker-down alert")
    }

    @Test func everyAlertHasARunbookSection() throws {
        let runbook = try Repo.text("ops/RUNBOOK.md")
        let anchors = Set(matches(#"^#{2,4} (.+)$"#, in: runbook).map { heading in
            heading[1].lowercased().filter { $0.isLetter || $0.isNumber || $0 == " " || $0 == "-" }.replacingOccurrences(of: " ", with: "-")
        })
        for rule in try rules() {
            let link = try #require(rule.annotations["runbook"], "\(rule.alert) has no runbook annotation")
            let anchor = try #require(link.split(separator: "#").last.map(String.init))
            #expect(link.hasPrefix("ops/RUNBOOK.md#") && anchors.contains(anchor), "\(rule.alert): \(link) has no section")
        }
    }

    @Test func dashboardUsesOnlyExportedMetricsAndShowsEveryOne() throws {
        let expressions = try dashboardExpressions()
        #expect(expressions.count >= 20)
        var shown = Set<String>()
        for expression in expressions {
            let use = PromQLUse(expression)
            for metric in use.metrics { #expect(facts.metrics.contains(metric), "dashboard: \(metric) is not exported by the code") }
            for label in use.labels { #expect(facts.queryLabels.contains(label), "dashboard: label \(label) does not exist") }
            shown.formUnion(use.metrics)
        }
        // A new metric in the code fails here until it has a panel (a histogram counts once shown).
        for metric in facts.metrics where !metric.hasSuffix("_sum") && !metric.hasSuffix("_count") {
            #expect(shown.contains(metric) || shown.contains(metric.replacingOccurrences(of: "_bucket", with: "_sum")),
                    "no dashboard panel shows \(metric)")
        }
    }

    @Test func dashboardPanelsFitTheGridWithoutOverlapping() throws {
        let data = try Data(contentsOf: Repo.url("ops/grafana/hotline-dashboard.json"))
        let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var taken: [Int: String] = [:]
        for panel in (dashboard["panels"] as? [[String: Any]]) ?? [] {
            let title = panel["title"] as? String ?? "?"
            let grid = try #require(panel["gridPos"] as? [String: Int], "\(title) has no gridPos")
            let (x, y, w, h) = (grid["x"] ?? -1, grid["y"] ?? -1, grid["w"] ?? 0, grid["h"] ?? 0)
            #expect(x >= 0 && y >= 0 && w > 0 && h > 0 && x + w <= 24, "\(title): \(grid)")
            for column in x..<(x + w) {
                for row in y..<(y + h) {
                    if let other = taken[row * 24 + column] { Issue.record("\(title) overlaps \(other)"); return }
                    taken[row * 24 + column] = title
                }
            }
            if panel["type"] as? String != "row" {
                #expect((panel["datasource"] as? [String: Any])?["uid"] as? String == "${datasource}", "\(title) datasource")
            }
        }
    }

    @Test func scrapeConfigsFindEveryWorkerAndLabelIt() throws {
        let config = try Repo.yaml("ops/prometheus/prometheus.yml")
        #expect(Doc.list(config["rule_files"]).compactMap { Doc.string($0) }.contains("/etc/prometheus/alerts.yml"))
        let jobs = Doc.list(config["scrape_configs"]).compactMap { Doc.map($0) }
        let compose = try #require(jobs.first { Doc.string($0["job_name"]) == "hotline" })
        var ports: [String: Int] = [:]
        for discovery in Doc.list(compose["dns_sd_configs"]).compactMap({ Doc.map($0) }) {
            for name in Doc.list(discovery["names"]).compactMap({ Doc.string($0) }) { ports[name] = Doc.int(discovery["port"]) }
        }
        #expect(ports == Dictionary(uniqueKeysWithValues: facts.workers.map { ($0.product, $0.defaultPort) }))
        #expect(Doc.list(compose["relabel_configs"]).compactMap { Doc.map($0) }.contains { Doc.string($0["target_label"]) == "worker" })
    }

    /// promtool (Debian's `prometheus` package, which ops/test installs like PostgreSQL) parses
    /// the rules as Prometheus itself would and runs their unit tests.
    @Test func promtoolAcceptsTheRulesAndTheirUnitTestsPass() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/promtool"),
                     "promtool is missing: apt-get install prometheus (ops/test does)")
        let result = try run(["/usr/bin/promtool", "check", "rules", Repo.url("ops/prometheus/alerts.yml").path])
        #expect(result.status == 0, "\(result.output)")
        // Series in, alerts out: one alert per queue however many replicas report it, the kind
        // named when none of its replicas runs, ratios and stalls (ops/prometheus/alerts.test.yml).
        let tests = try run(["/usr/bin/promtool", "test", "rules", Repo.url("ops/prometheus/alerts.test.yml").path])
        #expect(tests.status == 0, "\(tests.output)")
    }
}
