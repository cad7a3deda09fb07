package org.postern.cli.gateway;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.JsonEncoder;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.encoder.Encoder;
import org.slf4j.LoggerFactory;

/**
 * The gateway's log, set up by {@code postern gateway run}: one line per event on standard error,
 * human-readable by default ({@code --log-format text}) or JSON lines ({@code --log-format json},
 * Logback's {@link JsonEncoder}) for a log shipper. Postern's own loggers at INFO unless
 * {@code $POSTERN_LOG_LEVEL} says otherwise; libraries at WARN.
 */
final class GatewayLogging {

    enum Format { text, json }

    private GatewayLogging() {
    }

    static void configure(Format format, String level) {
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
            return; // another SLF4J binding: leave its configuration alone
        }
        Encoder<ILoggingEvent> encoder = switch (format) {
            case text -> {
                PatternLayoutEncoder p = new PatternLayoutEncoder();
                p.setPattern("%d{yyyy-MM-dd'T'HH:mm:ss.SSSX,UTC} %-5level %logger{24} - %msg%n");
                yield p;
            }
            case json -> {
                JsonEncoder j = new JsonEncoder();
                j.setWithSequenceNumber(false);
                j.setWithNanoseconds(false);
                j.setWithContext(false);
                j.setWithArguments(false); // the formatted message says it once
                j.setWithMessage(false);
                j.setWithFormattedMessage(true);
                yield j;
            }
        };
        encoder.setContext(context);
        encoder.start();
        ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
        console.setContext(context);
        console.setName("console");
        console.setTarget("System.err");
        console.setEncoder(encoder);
        console.start();
        Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        root.detachAndStopAllAppenders();
        root.addAppender(console);
        root.setLevel(Level.WARN);
        context.getLogger("org.postern").setLevel(Level.toLevel(level, Level.INFO));
    }
}
