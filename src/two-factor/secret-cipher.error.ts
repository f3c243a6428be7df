/**
 * A stored secret could not be decrypted: malformed, under an unknown key, tampered with, or
 * bound to another user. The message names the reason, never the key or the ciphertext.
 */
export class SecretCipherError extends Error {
  override readonly name = 'SecretCipherError';
}
