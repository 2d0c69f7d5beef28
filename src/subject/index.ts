export {
  subjectCovers,
  subjectMatches,
  subjectsOverlap,
  validateFilterSubject,
  validatePublishSubject,
} from "./subject.js";
