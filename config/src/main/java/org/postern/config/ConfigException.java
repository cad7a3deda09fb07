package org.postern.config;

import java.util.List;

/**
 * A configuration that cannot be used, with every problem found in it. Problems are collected
 * before this is thrown, so an operator fixes a file in one pass instead of one error per run.
 * Each problem reads {@code file: key.path: expected …, found …}.
 */
public final class ConfigException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final List<String> problems;

    public ConfigException(List<String> problems) {
        super(String.join("\n", requireSome(problems)));
        this.problems = List.copyOf(problems);
    }

    /** The problems, one line each, in the order the settings are read. */
    public List<String> problems() {
        return problems;
    }

    private static List<String> requireSome(List<String> problems) {
        if (problems.isEmpty()) {
            throw new IllegalArgumentException("a ConfigException needs at least one problem");
        }
        return problems;
    }
}
