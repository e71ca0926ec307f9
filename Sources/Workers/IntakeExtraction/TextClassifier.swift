import Foundation

/// A multinomial naive Bayes classifier over character n-grams (1–3), the usual strong baseline
/// for short Chinese texts: no word segmentation needed, robust to typos and informal wording.
/// Trained from labelled tickets in the database (corpus examples and dispatchers' corrections),
/// so it improves as people correct it. Scoring touches only the labels that have seen each
/// n-gram, so it stays fast with hundreds of labels.
struct TextClassifier: Sendable {
    struct Prediction: Equatable, Sendable {
        let label: String
        /// Posterior probability among the known labels, 0…1.
        let probability: Double
    }

    private let labels: [String]
    private let logPriors: [Double]
    /// Log-probability of an n-gram a label never saw (Laplace smoothing), per label.
    private let unseen: [Double]
    /// n-gram → (label index, log P(n-gram | label) − unseen[label]).
    private let weights: [String: [(Int, Double)]]

    var knownLabels: [String] { labels }

    /// Trains on (text, label) pairs. `smoothing` is the additive (Laplace/Lidstone) constant.
    init(examples: [(text: String, label: String)], smoothing: Double = 0.5) {
        let labels = Array(Set(examples.map(\.label))).sorted()
        let index = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })
        var documents = Array(repeating: 0, count: labels.count)
        var totals = Array(repeating: 0.0, count: labels.count)
        var counts: [String: [Int: Double]] = [:]
        for example in examples {
            let label = index[example.label]!
            documents[label] += 1
            for gram in Self.features(example.text) {
                counts[gram, default: [:]][label, default: 0] += 1
                totals[label] += 1
            }
        }
        let vocabulary = Double(max(counts.count, 1))
        let unseen = totals.map { log(smoothing / ($0 + smoothing * vocabulary)) }
        var weights: [String: [(Int, Double)]] = [:]
        weights.reserveCapacity(counts.count)
        for (gram, perLabel) in counts {
            weights[gram] = perLabel.map { label, count in
                (label, log((count + smoothing) / (totals[label] + smoothing * vocabulary)) - unseen[label])
            }
        }
        let total = Double(max(examples.count, 1))
        self.labels = labels
        self.logPriors = documents.map { log(Double(max($0, 1)) / total) }
        self.unseen = unseen
        self.weights = weights
    }

    /// Labels ranked by posterior probability (at most `limit`).
    func predict(_ text: String, limit: Int = 3) -> [Prediction] {
        guard !labels.isEmpty else { return [] }
        // N-grams no label has seen carry no evidence and are skipped; a known n-gram adds its
        // label's weight, or the label's unseen penalty where that label never saw it.
        var scores = logPriors
        var known = 0.0
        for gram in Self.features(text) {
            guard let perLabel = weights[gram] else { continue }
            known += 1
            for (label, weight) in perLabel { scores[label] += weight }
        }
        for label in scores.indices { scores[label] += known * unseen[label] }
        let best = scores.max() ?? 0
        let exps = scores.map { exp($0 - best) }
        let sum = exps.reduce(0, +)
        return exps.enumerated()
            .sorted { $0.element > $1.element }
            .prefix(limit)
            .map { Prediction(label: labels[$0.offset], probability: $0.element / sum) }
    }

    /// Character 1-, 2- and 3-grams of the normalised text (each counted once per text).
    static func features(_ text: String) -> Set<String> {
        let chars = normalise(text)
        var grams = Set<String>()
        grams.reserveCapacity(chars.count * 3)
        for i in chars.indices {
            grams.insert(String(chars[i]))
            if i + 1 < chars.count { grams.insert(String(chars[i...(i + 1)])) }
            if i + 2 < chars.count { grams.insert(String(chars[i...(i + 2)])) }
        }
        return grams
    }

    /// Full-width forms folded to ASCII, letters lower-cased, digits folded to "0", and
    /// punctuation and spaces dropped: what varies between callers but not between matters.
    static func normalise(_ text: String) -> [Character] {
        var out: [Character] = []
        out.reserveCapacity(text.count)
        for scalar in text.unicodeScalars {
            var value = scalar.value
            if (0xFF01...0xFF5E).contains(value) { value -= 0xFEE0 }
            guard let folded = Unicode.Scalar(value) else { continue }
            if ("0"..."9").contains(folded) {
                out.append("0")
            } else if folded.properties.isAlphabetic {
                out.append(Character(String(folded).lowercased()))
            }
        }
        return out
    }
}

private func log(_ x: Double) -> Double { Foundation.log(x) }
private func exp(_ x: Double) -> Double { Foundation.exp(x) }
