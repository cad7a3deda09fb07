package org.postern.demo;

import java.util.Optional;
import java.util.function.Function;

import org.jspecify.annotations.Nullable;

/**
 * One printed, checked step of {@code postern demo}. {@link DemoCommand} prints {@code [n] title},
 * then runs it; the step shows what happened and checks it ({@link DemoContext#check}), and a check
 * that fails ends the demo.
 */
interface DemoStep {

    /** The heading, printed before the step runs; it may use what earlier steps found. */
    String title(DemoContext ctx);

    void run(DemoContext ctx) throws Exception;

    /** Why the step cannot run on this machine (printed in its place, unnumbered), or empty when it runs. */
    default Optional<String> skipped(DemoContext ctx) {
        return Optional.empty();
    }

    @FunctionalInterface
    interface Action {
        void run(DemoContext ctx) throws Exception;
    }

    static DemoStep of(String title, Action action) {
        return of(ctx -> title, action);
    }

    static DemoStep of(Function<DemoContext, String> title, Action action) {
        return new DemoStep() {
            @Override
            public String title(DemoContext ctx) {
                return title.apply(ctx);
            }

            @Override
            public void run(DemoContext ctx) throws Exception {
                action.run(ctx);
            }
        };
    }

    /** This step, skipped with the note {@code why} returns when that is not null. */
    default DemoStep unless(Function<DemoContext, @Nullable String> why) {
        DemoStep step = this;
        return new DemoStep() {
            @Override
            public String title(DemoContext ctx) {
                return step.title(ctx);
            }

            @Override
            public void run(DemoContext ctx) throws Exception {
                step.run(ctx);
            }

            @Override
            public Optional<String> skipped(DemoContext ctx) {
                return Optional.ofNullable(why.apply(ctx));
            }
        };
    }
}
