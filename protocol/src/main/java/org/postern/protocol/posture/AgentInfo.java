package org.postern.protocol.posture;

/** The agent that collected the facts: {@code name} ({@code postern-agent}) and its version. */
public record AgentInfo(String name, String version) {
}
