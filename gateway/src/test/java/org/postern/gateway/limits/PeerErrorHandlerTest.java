package org.postern.gateway.limits;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import javax.net.ssl.SSLHandshakeException;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.github.benmanes.caffeine.cache.Scheduler;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.NotSslRecordException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** Issue 11, item 7: one line per failed connection, no stack trace for what a peer causes, a count past 5 a minute. */
class PeerErrorHandlerTest {

    final AtomicLong nanos = new AtomicLong();
    final PeerErrorHandler handler = new PeerErrorHandler("tunnel", nanos::get, Runnable::run, Scheduler.disabledScheduler());
    final ListAppender<ILoggingEvent> logs = new ListAppender<>();
    final Logger logger = (Logger) LoggerFactory.getLogger(PeerErrorHandler.class);

    PeerErrorHandlerTest() {
        logs.start();
        logger.addAppender(logs);
        logger.setLevel(Level.INFO);
    }

    @AfterEach
    void detach() {
        logger.detachAppender(logs);
    }

    @Test
    void peerErrors_oneLineEachWithoutStackTrace_thenCountedPerMinute() {
        Throwable[] causes = {new IOException("Connection reset"), new ClosedChannelException(),
                new DecoderException(new SSLHandshakeException("no cipher suites in common")),
                new NotSslRecordException("not an SSL/TLS record: 474554"), new IOException("Broken pipe")};
        for (int i = 0; i < 12; i++) {
            EmbeddedChannel ch = new EmbeddedChannel(handler);
            ch.pipeline().fireExceptionCaught(causes[i % causes.length]);
            ch.pipeline().fireExceptionCaught(new IOException("and then this")); // same connection: no second line
            assertThat(ch.isOpen()).isFalse();
        }
        assertThat(logs.list).hasSize(PeerErrorHandler.PER_MINUTE)
                .allSatisfy(e -> assertThat(e.getThrowableProxy()).isNull())
                .allSatisfy(e -> assertThat(e.getLevel()).isEqualTo(Level.INFO));
        assertThat(logs.list.get(2).getFormattedMessage()).endsWith("closed: SSLHandshakeException: no cipher suites in common");

        nanos.addAndGet(Duration.ofSeconds(61).toNanos());
        handler.cleanUp();

        assertThat(logs.list).hasSize(PeerErrorHandler.PER_MINUTE + 1);
        assertThat(logs.list.getLast().getFormattedMessage()).startsWith("tunnel: 7 more connections from embedded closed on errors in the last 60s");
    }

    @Test
    void aBug_isLoggedWithItsStackTrace() {
        EmbeddedChannel ch = new EmbeddedChannel(handler);

        ch.pipeline().fireExceptionCaught(new IllegalStateException("a bug"));

        assertThat(logs.list).singleElement().satisfies(e -> {
            assertThat(e.getLevel()).isEqualTo(Level.WARN);
            assertThat(e.getThrowableProxy().getMessage()).isEqualTo("a bug");
        });
        assertThat(ch.isOpen()).isFalse();
    }
}
