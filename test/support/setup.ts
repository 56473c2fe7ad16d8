/**
 * Fast-suite setup: one process, so the jittered wait a client makes before renewing (meant for
 * bursts across worker processes) only slows the tests down. Tests of that wait set it back.
 */
import { renewalTiming } from '../../nodes/shared/client';

renewalTiming.renewalJitterMs = 0;
