import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { valueErrorMessage } from '../validate/value-error.js';

/** Options of createBatchCodec and createPullCodec. */
export const CodecOptionsSchema = Type.Object(
  {
    /** zstd compression level (negative = faster, up to 19 = smaller). 3 is zstd's default and the measured sweet spot for 10-100 KB batches. */
    level: Type.Integer({ minimum: -7, maximum: 19, default: 3 }),
    /**
     * zstd level of frames compressed against earlier batches (reencode). They are few (one per
     * batch sent) and small, and every byte saved is a byte of metered uplink, so the default is
     * zstd's strongest; the window is sized to the batch and its references, not to the level.
     */
    referenceLevel: Type.Integer({ minimum: -7, maximum: 19, default: 19 }),
    /**
     * A zstd dictionary (`zstd --train` on earlier batches). Both ends must load the same bytes;
     * frames say whether they used it, so a decoder with a dictionary still reads frames without.
     */
    dictionary: Type.Optional(Type.Uint8Array()),
    /**
     * Validate every batch before encoding (throws ProtocolError ET_ERR_INVALID_FIELD): the sender
     * learns at once what the receiver would refuse. Off only for producers already validated
     * upstream: the body writer assumes valid input, and an invalid batch then makes bytes the
     * receiver rejects.
     */
    validateOnEncode: Type.Boolean({ default: true }),
  },
  { additionalProperties: false },
);
export type CodecOptions = Static<typeof CodecOptionsSchema>;

/** Fills defaults and checks the options; a wrong option is a programming error, so this throws. */
export function resolveCodecOptions(input: Partial<CodecOptions> = {}): CodecOptions {
  const withDefaults = Value.Default(CodecOptionsSchema, { ...input });
  if (!Value.Check(CodecOptionsSchema, withDefaults)) {
    const first = Value.Errors(CodecOptionsSchema, withDefaults).First();
    throw new TypeError(`codec options: ${first ? `${first.path} ${valueErrorMessage(first)}` : 'invalid'}`);
  }
  return withDefaults;
}
