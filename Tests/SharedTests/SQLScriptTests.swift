import Foundation
import Shared
import Testing

@Suite("SQL script splitting")
struct SQLScriptTests {
    @Test func splitsOnTopLevelSemicolonsOnly() throws {
        let script = """
            -- a comment; with a semicolon
            CREATE TABLE t (x text DEFAULT 'a;b');
            /* block; /* nested; */ still comment */
            INSERT INTO t VALUES (E'it\\'s; fine'), ('it''s; fine');
            CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$;
            CREATE FUNCTION g() RETURNS text LANGUAGE sql AS $body$ SELECT 'x;y' $body$;
            SELECT "odd;name" FROM t WHERE x = $1;
            """
        let statements = try SQLScript.statements(script)
        #expect(statements.count == 5)
        #expect(statements[0].hasSuffix("CREATE TABLE t (x text DEFAULT 'a;b')"))
        #expect(statements[1].contains("E'it\\'s; fine'"))
        #expect(statements[2].contains("BEGIN RETURN 1; END"))
        #expect(statements[3].contains("SELECT 'x;y'"))
        #expect(statements[4] == "SELECT \"odd;name\" FROM t WHERE x = $1")
    }

    @Test func dropsEmptyAndCommentOnlyStatements() throws {
        #expect(try SQLScript.statements(";;\n-- only a comment\n;  ").isEmpty)
        #expect(try SQLScript.statements("SELECT 1") == ["SELECT 1"])
    }

    @Test(arguments: ["SELECT 'open", "SELECT $$ body", "/* never closed", "SELECT \"x"])
    func reportsUnterminatedQuotes(script: String) {
        #expect(throws: SQLScript.UnterminatedError.self) { try SQLScript.statements(script) }
    }

    @Test func splitsTheRealMigrations() throws {
        let statements = try SQLScript.statements(
            (try? String(contentsOfFile: #filePath.replacingOccurrences(of: "Tests/SharedTests/SQLScriptTests.swift", with: "sql/0001_queue.sql"), encoding: .utf8)) ?? "")
        #expect(statements.count > 20)
        #expect(statements.contains { $0.contains("CREATE FUNCTION queue.claim(") && $0.hasSuffix("$$") })
    }
}
