// MasterOptions.swift - the master(8) command line: -c -D -d -e -i -s -t -v -w.
//
// Parsed like getopt("+c:De:distvw"): clustered flags, attached or separate
// option arguments, parsing stops at the first non-option, and any operand
// left over is a usage error. Conflicting options get the stock messages.

import Glibc

struct MasterOptions {
    var configDirectory: String?
    var debugger = false        // -D
    var foreground = false      // -d
    var exitAfter: Int?         // -e seconds
    var initMode = false        // -i
    var keepStdout = false      // -s
    var testOnly = false        // -t
    var verbosity = 0           // -v, repeatable
    var waitForInit = false     // -w

    static let usage = "usage: master [-c config_dir] [-D (debug)] [-d (don't detach from terminal)] [-e exit_time] [-t (test)] [-v] [-w (wait for initialization)]"

    enum ParseError: Error, Equatable {
        case message(String)
    }

    static func parse(_ arguments: [String]) throws -> MasterOptions {
        var options = MasterOptions()
        var index = 0
        while index < arguments.count {
            let word = arguments[index]
            if word == "--" { index += 1; break }
            guard word.hasPrefix("-"), word.count > 1 else { break }
            var letters = Array(word.dropFirst())
            while !letters.isEmpty {
                let letter = letters.removeFirst()
                if letter == "c" || letter == "e" {
                    var value = String(letters)
                    letters = []
                    if value.isEmpty {
                        index += 1
                        guard index < arguments.count else { throw ParseError.message(usage) }
                        value = arguments[index]
                    }
                    try options.set(letter, value)
                } else {
                    try options.set(letter, nil)
                }
            }
            index += 1
        }
        if index < arguments.count { throw ParseError.message(usage) }
        try options.checkCombinations()
        return options
    }

    private mutating func set(_ letter: Character, _ value: String?) throws {
        switch letter {
        case "c": configDirectory = value
        case "e":
            guard let value, let seconds = Int(value), seconds >= 0 else { throw ParseError.message(MasterOptions.usage) }
            exitAfter = seconds
        case "D": debugger = true
        case "d": foreground = true
        case "i": initMode = true
        case "s": keepStdout = true
        case "t": testOnly = true
        case "v": verbosity += 1
        case "w": waitForInit = true
        default: throw ParseError.message(MasterOptions.usage)
        }
    }

    private func checkCombinations() throws {
        if testOnly && waitForInit {
            throw ParseError.message("the -t and -w options cannot be used together")
        }
        if initMode && (debugger || foreground || waitForInit) {
            throw ParseError.message("the -i option cannot be used with -D, -d, or -w")
        }
    }
}
