import Shared

// The satisfaction-callback worker: sends the survey SMS a set time after a ticket closes,
// reads the citizens' replies (digits, words, free text; unclear ones go to an operator), and
// on "unsatisfied" or "unsolved" reopens the ticket to the same lead and escalates.
// `satisfaction-callback evaluate-replies [--corpus F]` scores the reply parser.
let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "evaluate-replies" {
    EvaluateReplies.main(Array(arguments.dropFirst()))
}
await WorkerProcess.main({
    var worker = try Worker(name: "satisfaction-callback", queue: "satisfaction-callback", concurrency: 8)
    try CallbackJobs.register(on: &worker)
    try worker.registerPing()
    return worker
}, defaultHTTPPort: 9406,
   about: "sends the survey SMS after a ticket closes, reads the citizens' replies, and reopens and escalates the unsatisfied.",
   commands: ["evaluate-replies [--corpus F]   the reply parser's accuracy"])
