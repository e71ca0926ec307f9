import Foundation

/// The command line of a worker executable. A worker takes no arguments (its settings come from
/// the environment only, so every replica of a deployment runs the same command); `--help`
/// says what it is and where its settings come from; anything else is refused, naming it,
/// instead of being ignored.
public struct WorkerUsage: Sendable {
    public var name: String
    /// One or two sentences: what the worker does.
    public var about: String
    /// nil: no status endpoint unless HOTLINE_HTTP_PORT is set.
    public var defaultHTTPPort: Int?
    /// The executable's own subcommands, handled before this check, as "evaluate [--corpus F]: what it does".
    public var commands: [String]

    /// Exit code for a bad command line (EX_USAGE).
    public static let usageExitCode: Int32 = 64

    public init(name: String, about: String, defaultHTTPPort: Int?, commands: [String] = []) {
        self.name = name
        self.about = about
        self.defaultHTTPPort = defaultHTTPPort
        self.commands = commands
    }

    public var help: String {
        var lines = ["\(name): \(about)", "", "usage:", "  \(name)             run until SIGTERM or SIGINT, then drain (jobs in hand finish or go back)"]
        lines += commands.map { "  \(name) \($0)" }
        lines += ["  \(name) --help      this text", "",
                  "Settings come from the environment only (README, \"Configuration (environment)\"); the main ones:"]
        let settings = [
            ("DATABASE_URL or DATABASE_URL_FILE", "PostgreSQL (postgres://user@host:port/db?sslmode=…), required"),
            ("HOTLINE_HTTP_HOST, HOTLINE_HTTP_PORT",
             "/healthz and /metrics (\(defaultHTTPPort.map { "127.0.0.1:\($0)" } ?? "off unless set"); 0 picks a port, off disables)"),
            ("HOTLINE_LOG_LEVEL, HOTLINE_LOG_FORMAT", "info, text (or json)"),
            ("HOTLINE_MIGRATE", "true: apply pending migrations at start"),
        ]
        let width = settings.map(\.0.count).max() ?? 0
        lines += settings.map { "  " + $0.0.padding(toLength: width + 3, withPad: " ", startingAt: 0) + $0.1 }
        lines.append("A bad setting stops the process with exit code \(WorkerProcess.configurationExitCode), naming the variable.")
        return lines.joined(separator: "\n") + "\n"
    }

    /// What to do with `arguments` (without the program name): nil to run the worker, else the
    /// text to print and the exit code (0 for help, on standard output; 64 otherwise, on standard error).
    public func verdict(_ arguments: [String]) -> (code: Int32, text: String)? {
        guard let first = arguments.first else { return nil }
        if arguments.count == 1 && ["--help", "-h", "help"].contains(first) { return (0, help) }
        let shown = arguments.map { String($0.prefix(80)) }.joined(separator: " ")
        return (Self.usageExitCode, "\(name): unexpected argument(s) '\(shown)': the worker takes none (settings come from the environment); see \(name) --help\n")
    }

    /// Prints and exits when the command line is not a plain start.
    public func check(_ arguments: [String] = Array(CommandLine.arguments.dropFirst())) {
        guard let (code, text) = verdict(arguments) else { return }
        (code == 0 ? FileHandle.standardOutput : FileHandle.standardError).write(Data(text.utf8))
        exit(code)
    }
}
