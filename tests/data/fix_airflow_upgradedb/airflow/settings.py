from sqlalchemy.orm import Session as SASession, sessionmaker

engine = None
Session = sessionmaker()
