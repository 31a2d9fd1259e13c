export const handler = async () => {
  throw new Error('bulk-stop is not implemented yet');
};
