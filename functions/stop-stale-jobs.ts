export const handler = async () => {
  throw new Error('stop-stale-jobs is not implemented yet');
};
