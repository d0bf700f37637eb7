import { hostLocal } from "./host-local.ts";
export default hostLocal;
