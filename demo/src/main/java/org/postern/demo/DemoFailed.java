package org.postern.demo;

/** A step did not behave as shown: the demo ends with exit {@link DemoCommand#DEMO_FAILED}. */
final class DemoFailed extends RuntimeException {
    DemoFailed(String m) {
        super(m);
    }
}
