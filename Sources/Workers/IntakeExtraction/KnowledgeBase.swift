import Logging
import PostgresNIO
import Shared

/// The knowledge-base articles intake suggests to the operator, scored like
/// `hotline.search_kb()`: each keyword found in the text 1, the same category 1.5, the same
/// level-2 group 0.5; only articles with a keyword hit or the same category; best three. Done
/// here rather than in the database because it runs for every new ticket.
struct KnowledgeBase: Sendable {
    struct Article: Sendable {
        var code: String
        var category: String?
        var keywords: [String]
    }

    let articles: [Article]
    private let matcher: PhraseMatcher
    /// Keyword index in the matcher → article index.
    private let owner: [Int]

    init(_ articles: [Article]) {
        self.articles = articles
        var phrases: [String] = []
        var owner: [Int] = []
        for (index, article) in articles.enumerated() {
            for keyword in Set(article.keywords) where !keyword.isEmpty {
                phrases.append(keyword)
                owner.append(index)
            }
        }
        self.matcher = PhraseMatcher(phrases)
        self.owner = owner
    }

    func suggest(for text: String, category: String?, limit: Int = 3) -> [String] {
        var hits = Array(repeating: 0.0, count: articles.count)
        // A keyword counts once per article, however often it occurs.
        for phrase in Set(matcher.matches(in: text).map(\.phrase)) { hits[owner[phrase]] += 1 }
        let group = category.map { $0.split(separator: "/").prefix(2) }
        var scored: [(score: Double, index: Int)] = []
        for (index, article) in articles.enumerated() {
            let same = category != nil && article.category == category
            guard hits[index] > 0 || same else { continue }
            var score = hits[index]
            if same {
                score += 1.5
            } else if let group, let theirs = article.category?.split(separator: "/").prefix(2), theirs.elementsEqual(group) {
                score += 0.5
            }
            scored.append((score, index))
        }
        return scored.sorted { $0.score != $1.score ? $0.score > $1.score : $0.index < $1.index }
            .prefix(limit).map { articles[$0.index].code }
    }

    static func load(from runner: some SQLRunner, logger: Logger) async throws -> KnowledgeBase {
        // Ordered by id so ties break as in search_kb.
        let rows = try await runner.all("""
            SELECT a.code, c.label, a.keywords FROM hotline.kb_articles a LEFT JOIN hotline.categories c ON c.id = a.category_id
             WHERE a.active ORDER BY a.id
            """, as: (String, String?, [String]).self, logger: logger)
        return KnowledgeBase(rows.map { Article(code: $0.0, category: $0.1, keywords: $0.2) })
    }
}
