import Foundation
import Logging
import PostgresNIO
import Shared

/// The intake section: the extractor's held-out accuracy on the labelled corpus (run by the
/// real `intake-extraction evaluate`), and the throughput of the real intake-extraction
/// worker processes: tickets submitted through `hotline.submit_ticket()`, extracted, and each
/// handed to auto-dispatch.
extension Bench {
    func intake(into report: inout Report) async throws {
        let corpusPath = root.appendingPathComponent("data/complaints-corpus.tsv").path
        let rows = try LabelledCorpus.read(path: corpusPath)

        note("intake: held-out accuracy on \(rows.count) labelled texts")
        let output = root.appendingPathComponent(".local/bench-intake-evaluate.json")
        try? FileManager.default.removeItem(at: output)
        let evaluate = try spawn(sibling: "intake-extraction", arguments: ["evaluate", "--corpus", corpusPath],
                                 log: "bench-intake-evaluate.json", environment: [:])
        guard case .exited(0)? = await evaluate.wait(timeout: .seconds(300)) else {
            throw BenchError("intake-extraction evaluate failed; see .local/bench-intake-evaluate.json")
        }
        let text = try String(contentsOf: output, encoding: .utf8)
        guard let open = text.firstIndex(of: "{"), let close = text.lastIndex(of: "}"),
              let scores = try JSONSerialization.jsonObject(with: Data(text[open...close].utf8)) as? [String: Any] else {
            throw BenchError("intake-extraction evaluate printed no JSON object")
        }
        func share(_ key: String) -> String {
            let n = scores["held_out_rows"] as? Double ?? 0
            let hits = scores[key] as? Double ?? 0
            return n == 0 ? "-" : String(format: "%.1f %%", 100 * hits / n)
        }
        let heldOut = "\(scores["held_out_rows"] ?? 0) held-out texts, trained on the other \(scores["training_rows"] ?? 0)"
        report.add("intake accuracy", "district / zone (target ≥ 95 %)", share("district"), heldOut)
        report.add("intake accuracy", "street / town", share("street"), "empty when the text names none")
        report.add("intake accuracy", "urgency class (target ≥ 90 %)", share("urgency"), "rules + character n-gram classifier")
        report.add("intake accuracy", "category, all three levels (target ≥ 85 %)", share("category"), "\(Set(rows.map(\.category)).count) categories in the corpus")
        report.add("intake accuracy", "category, first two levels", share("category_level2"), "")
        report.add("intake accuracy", "enterprise flag / sensitive flag", "\(share("enterprise")) / \(share("sensitive"))", "")
        report.add("intake accuracy", "extractions/s in process, one core", Self.rate(scores["extractions_per_second"] as? Double ?? 0),
                   "Extractor.extract alone, no database")

        note("intake: loading the corpus as training data")
        try await prepareTexts()
        for (run, processes) in [1, 2].enumerated() {
            try await intakeDrain(processes: processes, tickets: quick ? 3_000 : 20_000, texts: rows.count,
                                  phoneBase: (run + 1) * 10_000_000, into: &report)
        }
    }

    /// Submits `tickets` corpus texts (each from its own caller, so none is a repeat call) in one
    /// statement while `processes` intake-extraction workers wait, and measures commit → the
    /// last ticket extracted and its dispatch job enqueued.
    private func intakeDrain(processes: Int, tickets: Int, texts: Int, phoneBase: Int, into report: inout Report) async throws {
        let run = "p\(processes)"
        note("intake: \(tickets) tickets, \(processes) intake-extraction process(es)")
        let workers = try (0..<processes).map { index in
            // The worker's own defaults (jobs in flight, claim batch, connections): what ops run.
            try spawn(sibling: "intake-extraction", arguments: [], log: "bench-intake-\(run)-\(index).log", environment: [:])
        }
        defer { for worker in workers { worker.signal(SIGKILL) } }
        // Warm up: every process loads its model on its first ticket.
        try await submit(count: processes * 8, run: "warm-\(run)", texts: texts, phoneBase: phoneBase + 5_000_000)
        try await waitForDispatch(count: processes * 8)

        let start = ContinuousClock.now
        try await submit(count: tickets, run: run, texts: texts, phoneBase: phoneBase)
        let submitted = ContinuousClock.now
        try await waitForDispatch(count: processes * 8 + tickets)
        let done = ContinuousClock.now
        let merged = try await client.first("SELECT count(*)::int FROM hotline.tickets WHERE status = 'merged'", as: Int.self, logger: logger) ?? 0
        if processes == 1 {
            report.add("intake", "hotline.submit_ticket: tickets/s, \(tickets.formatted()) in one statement",
                       Self.rate(Double(tickets) / (submitted - start).seconds), "validation, event, extraction job per ticket")
        }
        report.add("intake", "extracted and handed to dispatch: tickets/s, \(processes) process\(processes > 1 ? "es" : "")",
                   Self.rate(Double(tickets) / (done - submitted).seconds),
                   "\(tickets.formatted()) tickets from commit to the last dispatch job; the worker's defaults (128 jobs in flight, groups of up to 32); \(merged) linked as repeats")
        for worker in workers { worker.signal(SIGTERM) }
        for worker in workers { _ = await worker.wait(timeout: .seconds(30)) }
        try await client.execute("DELETE FROM queue.jobs WHERE queue = 'auto-dispatch'", logger: logger)
        try await client.execute("DELETE FROM queue.finished_jobs WHERE queue = 'intake-extraction'", logger: logger)
    }

    private func submit(count: Int, run: String, texts: Int, phoneBase: Int) async throws {
        // One caller per ticket (phone 139 + 8 digits), so no ticket is linked as a repeat call.
        try await client.execute("""
            SELECT count(*)
              FROM generate_series(0, \(count - 1)) g
              JOIN bench_texts t ON t.i = g % \(texts),
              LATERAL hotline.submit_ticket('web', \(run) || '-' || g, t.text, '139' || lpad((g + \(phoneBase))::text, 8, '0')) s
            """, logger: logger)
    }

    private func waitForDispatch(count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(900)
        while try await client.first("SELECT count(*)::int FROM queue.jobs WHERE queue = 'auto-dispatch'", as: Int.self, logger: logger) ?? 0 < count {
            guard ContinuousClock.now < deadline else { throw BenchError("intake did not hand \(count) tickets to dispatch in 15 minutes") }
            try await Task.sleep(for: .milliseconds(100))   // cheap watching: the workers need the CPU
        }
    }
}
