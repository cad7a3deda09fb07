package org.postern.config;

import com.fasterxml.jackson.databind.JsonNode;

/** Describes what a user wrote, for the "found …" half of a problem. */
final class Found {

    // Long values are cut so one bad line does not flood the terminal (and a pasted key
    // or certificate does not end up whole in a log).
    private static final int MAX_CHARS = 60;

    private Found() {
    }

    static String describe(JsonNode node) {
        if (node == null || node.isMissingNode()) {
            return "nothing";
        }
        if (node.isTextual()) {
            return quote(node.textValue());
        }
        if (node.isObject()) {
            return "a map";
        }
        if (node.isArray()) {
            return "a list";
        }
        if (node.isNull()) {
            return "null";
        }
        return node.asText();
    }

    static String quote(String text) {
        String cut = text.length() > MAX_CHARS ? text.substring(0, MAX_CHARS) + "…" : text;
        StringBuilder sb = new StringBuilder(cut.length() + 2).append('"');
        for (int i = 0; i < cut.length(); i++) {
            char c = cut.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append('"').toString();
    }
}
