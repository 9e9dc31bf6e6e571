-- AlterTable
ALTER TABLE "CustomerPrediction" ADD COLUMN     "probabilityActive30dAgo" DOUBLE PRECISION;

