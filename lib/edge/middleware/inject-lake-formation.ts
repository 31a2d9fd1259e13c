import type { MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import type { LakeFormationClient } from '../../upstream/lakeformation/client.js';

/** What {@link injectLakeFormation} adds to the Lambda context. */
export interface LakeFormationContext extends Context {
  lakeFormation: LakeFormationClient;
  /** Epoch ms by which LakeFormation calls must be over: the Lambda's remaining time minus a margin. */
  deadline: number;
}

export interface InjectLakeFormationOptions {
  client: () => LakeFormationClient;
  /**
   * Time kept back from the Lambda's remaining time, to shape and return a result.
   * @default 1000
   */
  deadlineMarginMs?: number;
  now?: () => number;
}

/**
 * Token injection: puts a ready LakeFormation client (its token provider attached) and the call
 * deadline on the context. The token itself is fetched on first use and cached across warm
 * invocations, so a request rejected before any LakeFormation call costs no IAM call.
 */
export function injectLakeFormation<TEvent = unknown, TResult = unknown>(
  options: InjectLakeFormationOptions,
): MiddlewareObj<TEvent, TResult, Error, LakeFormationContext> {
  const margin = options.deadlineMarginMs ?? 1000;
  const now = options.now ?? (() => Date.now());
  return {
    before: ({ context }) => {
      context.lakeFormation = options.client();
      context.deadline = now() + context.getRemainingTimeInMillis() - margin;
    },
  };
}
