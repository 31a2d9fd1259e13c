export const handler = async () => {
  throw new Error('stop-job is not implemented yet');
};
