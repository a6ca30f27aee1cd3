/**
 * CPU execution support.
 *
 * <ul>
 *   <li>{@link dev.baton.engine.cpu.WorkerPool}: fixed compute threads running one split task at a time.</li>
 * </ul>
 */
package dev.baton.engine.cpu;
