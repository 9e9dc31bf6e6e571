/** The question form's plain POST, through Shopify's app proxy (`/apps/slice/answer`). */
import type { ActionFunctionArgs } from "@remix-run/node";
import prisma from "../db.server";
import { receiveAnswer } from "../storefront/answer.server";

export const action = ({ request }: ActionFunctionArgs) => receiveAnswer(request, prisma);

export const loader = ({ request }: ActionFunctionArgs) => receiveAnswer(request, prisma);
