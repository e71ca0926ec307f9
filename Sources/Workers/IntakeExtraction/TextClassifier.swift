import Dispatch
import Foundation
import Shared

/// A linear text classifier: one linear support vector machine per label (one-vs-rest,
/// L2-regularised, squared hinge loss) over sublinear TF-IDF weights of character 1- and
/// 2-grams, trained by dual coordinate descent. Chinese needs no word segmentation this way,
/// and character grams are robust to typos and informal wording.
///
/// Measured on the original labelled corpus (5-fold cross-validation, category): this model
/// 68 %, the TF-IDF nearest centroid it replaced 64 %, logistic regression 65 %, complement
/// naive Bayes 60 %; 1–3-grams did worse than 1–2-grams (fewer than 30 texts per label). See
/// data/README.md.
///
/// Place names are removed before counting (`ignoring`): with few examples per label they are
/// noise that happens to correlate with a label. Trained from labelled tickets in the database
/// (corpus rows and dispatchers' corrections), so it improves as people correct it.
struct TextClassifier: Sendable {
    struct Prediction: Equatable, Sendable {
        let label: String
        /// Share of the softmax over all labels' decision values, 0…1 (a ranking confidence).
        let probability: Double
    }

    /// How it is trained and how scores become probabilities.
    struct Parameters: Equatable, Sendable {
        /// The SVM's cost C: larger fits the training texts more closely, smaller generalises more.
        var cost = 1.0
        /// Weight each label's own examples by n / (labels × its examples) in its machine, so a
        /// label with three examples is not drowned by a thousand others.
        var balanced = true
        /// Decision values (about −1.5…1.5) are multiplied by this before the softmax; fitted by
        /// log-loss on out-of-fold decision values (category ≈ 12, urgency ≈ 5).
        var sharpness = 12.0
        /// Coordinate-descent passes at most, and the projected-gradient spread that ends them.
        var maxEpochs = 300
        var tolerance = 0.1
    }

    /// An n-gram as a number: one scalar, or two scalars packed (hashing Strings was the cost).
    typealias Gram = UInt64

    let parameters: Parameters
    private let labels: [String]
    /// n-gram → its row in `idf` and `weights`.
    private let vocabulary: [Gram: Int32]
    private let idf: [Float]
    /// Row-major, `vocabulary.count × labels.count`: one row of per-label weights per n-gram, so
    /// scoring a text reads one contiguous row per n-gram it contains.
    private let weights: [Float]
    private let bias: [Float]
    private let ignored: PhraseMatcher

    var knownLabels: [String] { labels }
    /// Distinct n-grams seen in training (the model's size is this × labels × 4 bytes).
    var vocabularySize: Int { vocabulary.count }

    init(examples: [(text: String, label: String)], ignoring: [String] = [], parameters: Parameters = Parameters()) {
        let ignored = PhraseMatcher(ignoring.filter { !$0.isEmpty })
        let labels = Array(Set(examples.map(\.label))).sorted()
        let labelIndex = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })

        var vocabulary: [Gram: Int32] = [:]
        var documentFrequency: [Int] = []
        let counted = examples.map { Self.gramCounts($0.text, ignoring: ignored) }
        for document in counted {
            for (gram, _) in document {
                if let row = vocabulary[gram] {
                    documentFrequency[Int(row)] += 1
                } else {
                    vocabulary[gram] = Int32(documentFrequency.count)
                    documentFrequency.append(1)
                }
            }
        }
        let total = Double(examples.count)
        let idf = documentFrequency.map { Float(log((1 + total) / (1 + Double($0))) + 1) }
        let vectors = Self.vectors(counted, vocabulary: vocabulary, idf: idf)
        let targets = examples.map { labelIndex[$0.label]! }
        let (weights, bias) = Self.train(vectors, targets: targets, labels: labels.count, dimensions: idf.count, parameters: parameters)

        self.parameters = parameters
        self.labels = labels
        self.vocabulary = vocabulary
        self.idf = idf
        self.weights = weights
        self.bias = bias
        self.ignored = ignored
    }

    // MARK: Scoring

    /// Each label's decision value for the text (positive: the text looks like that label);
    /// empty when the text shares no n-gram with any training example (no evidence at all).
    func decisionValues(_ text: String) -> [String: Double] {
        let vector = Self.vectors([Self.gramCounts(text, ignoring: ignored)], vocabulary: vocabulary, idf: idf)
        guard vector.starts[1] > 0 else { return [:] }
        let count = labels.count
        var scores = bias.map(Double.init)
        weights.withUnsafeBufferPointer { weights in
            scores.withUnsafeMutableBufferPointer { scores in
                for k in 0..<vector.starts[1] {
                    let row = Int(vector.indices[k]) * count
                    let value = vector.values[k]
                    for label in 0..<count { scores[label] += Double(value * weights[row + label]) }
                }
            }
        }
        return Dictionary(uniqueKeysWithValues: zip(labels, scores))
    }

    /// Labels ranked by probability (at most `limit`); `adding` is added to labels' decision
    /// values first (keyword rules' votes). Empty when the text shares nothing with any example.
    func predict(_ text: String, limit: Int = 3, adding extra: [String: Double] = [:]) -> [Prediction] {
        var scores = decisionValues(text)
        guard !scores.isEmpty else { return [] }
        for (label, value) in extra where scores[label] != nil { scores[label]! += value }
        return Self.rank(scores, sharpness: parameters.sharpness, limit: limit)
    }

    /// Softmax over the scores, best first (ties by label, so results are reproducible).
    static func rank(_ scores: [String: Double], sharpness: Double, limit: Int) -> [Prediction] {
        guard let best = scores.values.max() else { return [] }
        let exps = scores.mapValues { exp(sharpness * ($0 - best)) }
        let sum = exps.values.reduce(0, +)
        return exps.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }
            .prefix(limit)
            .map { Prediction(label: $0.key, probability: $0.value / sum) }
    }

    // MARK: Training

    /// Texts as rows of a sparse matrix (compressed rows): unit-length sublinear TF-IDF vectors.
    struct SparseRows {
        var indices: [Int32] = []
        var values: [Float] = []
        /// Row i is `starts[i]..<starts[i + 1]`.
        var starts: [Int] = [0]
        var count: Int { starts.count - 1 }
    }

    static func vectors(_ documents: [[(Gram, Int)]], vocabulary: [Gram: Int32], idf: [Float]) -> SparseRows {
        var rows = SparseRows()
        for document in documents {
            let start = rows.indices.count
            for (gram, count) in document {
                guard let row = vocabulary[gram] else { continue }
                rows.indices.append(row)
                rows.values.append((1 + log(Float(count))) * idf[Int(row)])
            }
            let norm = rows.values[start...].reduce(0) { $0 + $1 * $1 }.squareRoot()
            if norm > 0 { for k in start..<rows.values.count { rows.values[k] /= norm } }
            rows.starts.append(rows.indices.count)
        }
        return rows
    }

    /// One machine per label, each solved in the dual by coordinate descent (one example's dual
    /// variable at a time, in a shuffled order, until the projected gradients agree within
    /// `tolerance`), with shrinking: an example whose variable sits at zero with a clearly
    /// positive gradient (well outside the margin) is left out of later passes, then all are
    /// checked once more at the end. The bias is an extra feature of value 1, regularised like
    /// the others. The labels' machines are independent and are trained on all cores.
    static func train(_ x: SparseRows, targets: [Int], labels: Int, dimensions: Int,
                      parameters: Parameters) -> (weights: [Float], bias: [Float]) {
        var weights = [Float](repeating: 0, count: dimensions * labels)
        var bias = [Float](repeating: 0, count: labels)
        let n = x.count
        guard n > 0, labels > 0 else { return (weights, bias) }
        let members = targets.reduce(into: [Int](repeating: 0, count: labels)) { $0[$1] += 1 }
        // ‖x_i‖² + 1 for the bias feature.
        let squaredNorms = (0..<n).map { i in 1 + x.values[x.starts[i]..<x.starts[i + 1]].reduce(0) { $0 + Double($1 * $1) } }

        weights.withUnsafeMutableBufferPointer { weights in
            bias.withUnsafeMutableBufferPointer { bias in
                // Each label writes only its own column of `weights` and its own `bias` entry.
                let columns = UnsafeColumns(weights: weights, bias: bias)
                DispatchQueue.concurrentPerform(iterations: labels) { label in
                    let positiveCost = parameters.balanced
                        ? parameters.cost * Double(n) / Double(labels * members[label]) : parameters.cost
                    let (w, b) = trainOne(x, isPositive: { targets[$0] == label }, squaredNorms: squaredNorms,
                                          dimensions: dimensions, positiveCost: positiveCost, parameters: parameters,
                                          seed: 0x5EED &+ UInt64(label))
                    for j in 0..<dimensions { columns.weights[j * labels + label] = Float(w[j]) }
                    columns.bias[label] = Float(b)
                }
            }
        }
        return (weights, bias)
    }

    /// The output buffers shared by the labels' training tasks (disjoint writes only).
    private struct UnsafeColumns: @unchecked Sendable {
        let weights: UnsafeMutableBufferPointer<Float>
        let bias: UnsafeMutableBufferPointer<Float>
    }

    /// One binary L2-regularised squared-hinge SVM in the dual: returns the weights and bias.
    private static func trainOne(_ x: SparseRows, isPositive: (Int) -> Bool, squaredNorms: [Double], dimensions: Int,
                                 positiveCost: Double, parameters: Parameters, seed: UInt64) -> (w: [Double], b: Double) {
        let n = x.count
        // The squared hinge's dual adds 1 / (2C) to the diagonal.
        let diagonal = (positive: 1 / (2 * positiveCost), negative: 1 / (2 * parameters.cost))
        var w = [Double](repeating: 0, count: dimensions)
        var b = 0.0
        var alpha = [Double](repeating: 0, count: n)
        var active = Array(0..<n)
        var activeCount = n
        var generator = SeededRandom(seed: seed)   // the same shuffles every time: a model is reproducible from its examples
        // The largest projected gradient of the last pass (the shrinking threshold).
        var oldLargest = Double.infinity
        x.indices.withUnsafeBufferPointer { indices in
            x.values.withUnsafeBufferPointer { values in
                w.withUnsafeMutableBufferPointer { w in
                    for _ in 0..<parameters.maxEpochs {
                        active[0..<activeCount].shuffle(using: &generator)
                        var largest = -Double.infinity
                        var smallest = Double.infinity
                        var s = 0
                        while s < activeCount {
                            let i = active[s]
                            let range = x.starts[i]..<x.starts[i + 1]
                            let y: Double = isPositive(i) ? 1 : -1
                            let d = y > 0 ? diagonal.positive : diagonal.negative
                            var margin = b
                            for k in range { margin += w[Int(indices[k])] * Double(values[k]) }
                            let gradient = y * margin - 1 + d * alpha[i]
                            var projected = gradient
                            if alpha[i] == 0 {
                                if gradient > oldLargest {
                                    // Shrink: well outside the margin last pass too.
                                    activeCount -= 1
                                    active.swapAt(s, activeCount)
                                    continue
                                }
                                projected = min(gradient, 0)
                            }
                            largest = max(largest, projected)
                            smallest = min(smallest, projected)
                            if abs(projected) > 1e-12 {
                                let old = alpha[i]
                                alpha[i] = max(old - gradient / (squaredNorms[i] + d), 0)
                                let step = (alpha[i] - old) * y
                                for k in range { w[Int(indices[k])] += step * Double(values[k]) }
                                b += step
                            }
                            s += 1
                        }
                        if largest - smallest <= parameters.tolerance {
                            if activeCount == n { break }
                            // Converged on the active set: check every example once more.
                            activeCount = n
                            oldLargest = .infinity
                            continue
                        }
                        oldLargest = largest > 0 ? largest : .infinity
                    }
                }
            }
        }
        return (w, b)
    }

    // MARK: Features

    /// Character 1- and 2-grams of the normalised text with `ignoring` phrases removed, with how
    /// often each occurs, in gram order.
    static func gramCounts(_ text: String, ignoring: PhraseMatcher? = nil) -> [(Gram, Int)] {
        var scalars = Array(text.unicodeScalars)
        if let ignoring {
            var keep = Array(repeating: true, count: scalars.count)
            for match in ignoring.matches(in: scalars) { for i in match.start..<match.end { keep[i] = false } }
            scalars = zip(scalars, keep).compactMap { $1 ? $0 : nil }
        }
        let chars = normalise(scalars)
        var grams: [Gram] = []
        grams.reserveCapacity(chars.count * 2)
        for i in chars.indices {
            grams.append(Gram(chars[i]))
            if i + 1 < chars.count { grams.append(Gram(chars[i]) << 32 | Gram(chars[i + 1])) }
        }
        grams.sort()
        var counts: [(Gram, Int)] = []
        counts.reserveCapacity(grams.count)
        for gram in grams {
            if let last = counts.last, last.0 == gram { counts[counts.count - 1].1 += 1 } else { counts.append((gram, 1)) }
        }
        return counts
    }

    /// The distinct 1- and 2-grams of a text (for tests and inspection).
    static func features(_ text: String, ignoring: PhraseMatcher? = nil) -> Set<Gram> {
        Set(gramCounts(text, ignoring: ignoring).map(\.0))
    }

    /// The key of a one- or two-character gram (for tests and inspection).
    static func gram(_ text: String) -> Gram {
        let chars = normalise(Array(text.unicodeScalars))
        return chars.count == 1 ? Gram(chars[0]) : Gram(chars[0]) << 32 | Gram(chars[1])
    }

    /// Full-width forms folded to ASCII, letters lower-cased, digits folded to "0", and
    /// punctuation and spaces dropped: what varies between callers but not between matters.
    static func normalise(_ scalars: [Unicode.Scalar]) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(scalars.count)
        for scalar in scalars {
            var value = scalar.value
            if (0xFF01...0xFF5E).contains(value) { value -= 0xFEE0 }
            switch value {
            case 0x30...0x39: out.append(0x30)                        // every digit is "0"
            case 0x41...0x5A: out.append(value + 0x20)                // ASCII lower case
            case 0x61...0x7A: out.append(value)
            case ..<0x80: continue                                     // ASCII punctuation, spaces
            default:
                if let folded = Unicode.Scalar(value), folded.properties.isAlphabetic { out.append(value) }
            }
        }
        return out
    }

    static func normalise(_ text: String) -> String {
        String(String.UnicodeScalarView(normalise(Array(text.unicodeScalars)).compactMap(Unicode.Scalar.init)))
    }
}

extension TextClassifier.Parameters {
    /// For the category (118 labels in the corpus, most with 20–30 texts).
    static let categories = Self(cost: 1, balanced: true, sharpness: 12)
    /// For the urgency class (five labels; `normal` is 60 % of texts, so balancing matters).
    static let urgencies = Self(cost: 1, balanced: true, sharpness: 5)
}
