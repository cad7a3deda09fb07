package org.postern.agent.collect.macos;

/** Small text helpers for messages: what was found, on one line, not too long. */
final class MacText {
    private MacText() {
    }

    static String quote(String s) {
        if (s == null || s.isBlank()) {
            return "nothing";
        }
        String one = s.strip().replaceAll("\\s+", " ");
        return "\"" + (one.length() <= 120 ? one : one.substring(0, 117) + "...") + "\"";
    }
}
