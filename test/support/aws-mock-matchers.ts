/**
 * Runs before every test file: registers aws-sdk-client-mock-vitest's matchers
 * (`toHaveReceivedCommand`, `toHaveReceivedCommandWith`, `toHaveReceivedCommandTimes`, …), so an
 * assertion on a mocked AWS client (aws-sdk-client-mock) can say which command it expects.
 */
import 'aws-sdk-client-mock-vitest/extend';
