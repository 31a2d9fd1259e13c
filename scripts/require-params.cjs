'use strict';

/**
 * A local Serverless Framework plugin: `serverless package` (and so `deploy`) of a stage whose
 * required params are empty fails at once, naming them, instead of deploying functions that fail
 * every cold start. The required params are the ones without which no function can start:
 * `projectId`, `instanceId`, and a region or both endpoints.
 */
const REQUIRED = [
  ['LAKEFORMATION_PROJECT_ID', 'projectId'],
  ['LAKEFORMATION_INSTANCE_ID', 'instanceId'],
];
const ID = /^[A-Za-z0-9-]{1,64}$/;

class RequireParams {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { 'before:package:initialize': () => this.check() };
  }

  check() {
    const { provider } = this.serverless.service;
    const env = provider.environment ?? {};
    const stage = provider.stage;
    const text = (name) => (typeof env[name] === 'string' ? env[name].trim() : '');
    const problems = [];
    for (const [variable, param] of REQUIRED) {
      const value = text(variable);
      if (value === '') problems.push(`${param} is empty`);
      else if (!ID.test(value))
        problems.push(`${param} must be 1-64 letters, digits or dashes, got ${JSON.stringify(value)}`);
    }
    if (
      text('LAKEFORMATION_REGION') === '' &&
      (text('LAKEFORMATION_ENDPOINT') === '' || text('HUAWEICLOUD_IAM_ENDPOINT') === '')
    ) {
      problems.push('lakeFormationRegion is empty (or set both lakeFormationEndpoint and iamEndpoint)');
    }
    if (problems.length > 0) {
      throw new this.serverless.classes.Error(
        `stage ${stage}: ${problems.join('; ')}. Set them in serverless.yml under params.${stage} (docs/deploying.md); npm run preflight -- --stage ${stage} checks a stage before a deploy.`,
      );
    }
  }
}

module.exports = RequireParams;
