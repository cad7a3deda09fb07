package org.postern.pki.registry;

/**
 * The registry refused an operation or could not be read. {@link #code()} is a stable string
 * ({@code device.exists}, {@code device.unknown}, {@code token.used}, {@code registry.unavailable}…)
 * that callers map to exit codes and HTTP statuses.
 */
public class RegistryException extends RuntimeException {
    private final String code;

    public RegistryException(String code, String message) {
        super(message);
        this.code = code;
    }

    public RegistryException(String code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    public String code() {
        return code;
    }
}
