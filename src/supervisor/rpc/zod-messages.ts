// Full zod's English issue messages for the zod/mini schemas of the RPC methods (mini ships none and would say
// "Invalid input"): a parameter fault names the problem exactly as it did with full zod.
import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

config(en());
