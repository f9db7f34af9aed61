import type { Config } from '../config';
import { AppError } from '../utils/app-error';
import type { NormalizedPhone } from '../utils/phone';

export type PolicyRefusal = 'country_not_allowed' | 'number_type_not_allowed' | 'prefix_blocked';

/**
 * Which numbers this service will pay to text. Applied before any Sinch call: premium-rate,
 * toll-free, VoIP and unknown types, blocked countries and prefixes are the classic SMS-pumping targets.
 */
export function checkNumberPolicy(phone: NormalizedPhone, policy: Config['numberPolicy']): PolicyRefusal | undefined {
  if (policy.blockedPrefixes.some((prefix) => phone.e164.startsWith(prefix))) return 'prefix_blocked';
  if (!phone.country) return 'country_not_allowed';
  if (policy.blockedCountries.includes(phone.country)) return 'country_not_allowed';
  if (policy.allowedCountries.length > 0 && !policy.allowedCountries.includes(phone.country))
    return 'country_not_allowed';
  if (!(policy.allowedTypes as string[]).includes(phone.type)) return 'number_type_not_allowed';
  return undefined;
}

const MESSAGES: Record<PolicyRefusal, string> = {
  country_not_allowed: 'Codes cannot be sent to phone numbers in this country.',
  number_type_not_allowed: 'Codes can only be sent to mobile phone numbers.',
  prefix_blocked: 'Codes cannot be sent to this phone number range.',
};

/** Throws 422 PHONE_NUMBER_NOT_ALLOWED with the reason in `details` when the policy refuses the number. */
export function assertNumberAllowed(phone: NormalizedPhone, policy: Config['numberPolicy']): void {
  const reason = checkNumberPolicy(phone, policy);
  if (reason) {
    throw new AppError('PHONE_NUMBER_NOT_ALLOWED', {
      message: MESSAGES[reason],
      details: [
        { field: 'phoneNumber', reason, ...(reason === 'number_type_not_allowed' ? { numberType: phone.type } : {}) },
      ],
    });
  }
}
