import { Metrics } from '@aws-lambda-powertools/metrics';

/** The one metrics instance of the process (CloudWatch EMF on stdout). */
export const metrics = new Metrics({ namespace: 'LfJobStopper', serviceName: 'lf-job-stopper' });
