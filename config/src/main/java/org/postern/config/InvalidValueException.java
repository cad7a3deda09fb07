package org.postern.config;

/**
 * A text that does not parse as the value a setting needs. It keeps what was expected apart
 * from what was found, so {@link ConfigReader} can name the setting and describe the YAML node
 * as the user wrote it (a number unquoted, text quoted) instead of echoing Java's view of it.
 */
public final class InvalidValueException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    private final String expected;

    /**
     * @param expected what a valid value looks like, e.g. {@code a duration like 10m}
     * @param found    the text that was given; quoted in the message
     */
    public InvalidValueException(String expected, String found) {
        super("expected " + expected + ", found " + Found.quote(found));
        this.expected = expected;
    }

    /** What a valid value looks like, without the leading "expected". */
    public String expected() {
        return expected;
    }
}
